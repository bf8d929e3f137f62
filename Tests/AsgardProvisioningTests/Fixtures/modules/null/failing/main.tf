# Fails at apply: prints the vendor token to stderr (the connector must scrub it), then exits 1.

variable "name" {
  type = string
}

variable "project_id" {
  type = string
}

variable "tags" {
  type = map(string)
}

resource "null_resource" "this" {
  triggers = {
    name    = var.name
    project = var.tags["project"]
  }

  provisioner "local-exec" {
    command = "echo \"token is $DATABRICKS_TOKEN\" >&2; echo \"stdout token $DATABRICKS_TOKEN\"; exit 1"
  }
}
