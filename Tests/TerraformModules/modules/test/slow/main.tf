# A test-only module for an apply killed half-way: `null_resource.this` records each time it is
# created by appending a line to `counter_file`, then `null_resource.wait` sleeps, giving a test
# the time to kill the process in the middle of the apply.

terraform {
  required_providers {
    null = {
      source  = "hashicorp/null"
      version = "2.1.2"
    }
  }
}

variable "name" {
  description = "The resource id."
  type        = string
}

variable "project_id" {
  description = "The project the resource belongs to."
  type        = string
}

variable "tags" {
  description = "Tags; always holds project."
  type        = map(string)
}

variable "counter_file" {
  description = "Absolute path of the file that gets one line per creation of null_resource.this."
  type        = string
}

variable "sleep_seconds" {
  description = "How long the second resource takes to create."
  type        = number
  default     = 0
}

resource "null_resource" "this" {
  triggers = {
    project      = var.tags["project"]
    name         = var.name
    counter_file = var.counter_file
  }

  provisioner "local-exec" {
    command = "echo created >> '${var.counter_file}'"
  }
}

resource "null_resource" "wait" {
  depends_on = [null_resource.this]

  triggers = {
    project = var.tags["project"]
  }

  provisioner "local-exec" {
    command = "sleep ${var.sleep_seconds}"
  }
}

output "id" {
  description = "The id of the first resource."
  value       = null_resource.this.id
}
