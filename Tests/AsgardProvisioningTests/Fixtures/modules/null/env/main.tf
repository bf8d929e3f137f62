# Writes the environment terraform gives its children, one variable per line, to var.env_file.

variable "name" {
  type = string
}

variable "project_id" {
  type = string
}

variable "tags" {
  type = map(string)
}

variable "env_file" {
  type = string
}

resource "null_resource" "this" {
  triggers = {
    name    = var.name
    project = var.tags["project"]
  }

  provisioner "local-exec" {
    command = "env > ${var.env_file}"
  }
}
