# Instances with index keys: two by count, two by for_each.

variable "name" {
  type = string
}

variable "project_id" {
  type = string
}

variable "tags" {
  type = map(string)
}

resource "null_resource" "counted" {
  count = 2
  triggers = {
    project = var.tags["project"]
    index   = count.index
  }
}

resource "null_resource" "keyed" {
  for_each = toset(["alpha", "beta"])
  triggers = {
    project = var.tags["project"]
    key     = each.key
  }
}
