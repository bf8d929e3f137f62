# A stand-in for a vendor module: one null_resource carrying the project tag, and outputs of
# every kind the connector re-exports (plain, map, sensitive).

variable "name" {
  type = string
}

variable "project_id" {
  type = string
}

variable "tags" {
  type = map(string)
}

variable "size" {
  type    = number
  default = 1
}

variable "label" {
  type    = string
  default = ""
}

variable "zones" {
  type    = list(string)
  default = []
}

variable "settings" {
  type    = map(string)
  default = {}
}

variable "enabled" {
  type    = bool
  default = true
}

resource "null_resource" "this" {
  triggers = {
    name     = var.name
    project  = var.tags["project"]
    size     = var.size
    label    = var.label
    zones    = join(",", var.zones)
    settings = jsonencode(var.settings)
    enabled  = var.enabled
  }
}
