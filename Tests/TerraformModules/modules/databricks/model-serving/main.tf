# Stands in for databricks_model_serving.this, and, like it, creates the endpoint at the
# Databricks API that DATABRICKS_HOST points to (the fake Databricks in tests) and deletes it on
# destroy, so an endpoint removed or retagged out of band is real drift there.
#
# The shell expands DATABRICKS_HOST and DATABRICKS_TOKEN when the provisioner runs: terraform never
# sees the token, and curl reads the Authorization header from stdin (-H @-), so the token is in
# no argument list either.

locals {
  triggers = merge(
    { for key, value in var.tags : "tag_${key}" => value },
    {
      project        = var.tags["project"]
      project_id     = var.project_id
      name           = var.name
      entity_name    = var.entity_name
      entity_version = var.entity_version
      workload_size  = var.workload_size
      scale_to_zero  = tostring(var.scale_to_zero)
    },
  )

  # The body of POST /api/2.0/serving-endpoints, as the databricks provider sends it.
  create_body = jsonencode({
    name = var.name
    config = {
      served_entities = [{
        name                  = "${replace(element(split(".", var.entity_name), length(split(".", var.entity_name)) - 1), "/[^A-Za-z0-9_-]/", "_")}-${var.entity_version}"
        entity_name           = var.entity_name
        entity_version        = var.entity_version
        workload_size         = var.workload_size
        scale_to_zero_enabled = var.scale_to_zero
      }]
    }
    tags = [for key in sort(keys(var.tags)) : { key = key, value = var.tags[key] }]
  })

  # Fails with a clear message when the environment lacks the API's address or token.
  require_env = ": \"$${DATABRICKS_HOST:?DATABRICKS_HOST is not set}\" \"$${DATABRICKS_TOKEN:?DATABRICKS_TOKEN is not set}\""
}

resource "null_resource" "this" {
  triggers = local.triggers

  # Create: the API answers 200 with the endpoint, or an error body (e.g. 400
  # RESOURCE_ALREADY_EXISTS) that curl prints before failing the apply.
  provisioner "local-exec" {
    command = join(" && ", [
      local.require_env,
      "printf 'Authorization: Bearer %s\\n' \"$DATABRICKS_TOKEN\" | curl -sS --fail-with-body -X POST \"$DATABRICKS_HOST/api/2.0/serving-endpoints\" -H @- -H 'Content-Type: application/json' -d '${replace(local.create_body, "'", "'\\''")}'",
    ])
  }

  # Destroy: DELETE the endpoint; 404 (already gone, e.g. deleted out of band) counts as success.
  provisioner "local-exec" {
    when = destroy
    command = join(" && ", [
      ": \"$${DATABRICKS_HOST:?DATABRICKS_HOST is not set}\" \"$${DATABRICKS_TOKEN:?DATABRICKS_TOKEN is not set}\"",
      "status=$(printf 'Authorization: Bearer %s\\n' \"$DATABRICKS_TOKEN\" | curl -sS -o /dev/null -w '%%{http_code}' -X DELETE \"$DATABRICKS_HOST/api/2.0/serving-endpoints/${self.triggers.name}\" -H @-)",
      "case \"$status\" in 200|404) ;; *) echo \"DELETE serving endpoint ${self.triggers.name}: HTTP $status\" >&2; exit 1 ;; esac",
    ])
  }
}
