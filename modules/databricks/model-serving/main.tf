# A Databricks Model Serving endpoint (the databricks-model-serving service) serving one entity.
# Its tags propagate to billing, so its compute appears in system.billing.usage with
# project=<id>; once applied, Asgard routes the endpoint's model through the gateway.

locals {
  # A served entity is named after the model's last name part and its version, e.g.
  # llama_v3_2_3b_instruct-2: letters, digits, '-' and '_' only.
  served_entity_name = "${replace(element(split(".", var.entity_name), length(split(".", var.entity_name)) - 1), "/[^A-Za-z0-9_-]/", "_")}-${var.entity_version}"
}

resource "databricks_model_serving" "this" {
  name = var.name

  config {
    served_entities {
      name                  = local.served_entity_name
      entity_name           = var.entity_name
      entity_version        = var.entity_version
      workload_size         = var.workload_size
      scale_to_zero_enabled = var.scale_to_zero
    }
  }

  dynamic "tags" {
    for_each = var.tags
    content {
      key   = tags.key
      value = tags.value
    }
  }
}
