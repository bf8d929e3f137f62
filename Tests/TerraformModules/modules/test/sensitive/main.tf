# A test-only module whose plan holds a sensitive value: `admin_password` is a sensitive
# variable with a default, so terraform marks it in `after_sensitive` (and `before_sensitive`)
# and an approval must show it masked, never in clear.

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

variable "size" {
  description = "A size, as a cost rule reads it."
  type        = string
  default     = "small"
}

variable "admin_password" {
  description = "A secret the module sets itself: never shown to an approver."
  type        = string
  sensitive   = true
  default     = "pw-SENSITIVE-5c1e7d0a"
}

resource "null_resource" "this" {
  triggers = {
    project        = var.tags["project"]
    name           = var.name
    size           = var.size
    admin_password = var.admin_password
  }
}

output "id" {
  description = "The resource id."
  value       = null_resource.this.id
}
