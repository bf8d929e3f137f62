# Appends "started" to var.counter_file, sleeps, then appends "finished": killed mid-apply,
# the file must never get its "finished" line.

variable "name" {
  type = string
}

variable "project_id" {
  type = string
}

variable "tags" {
  type = map(string)
}

variable "counter_file" {
  type = string
}

variable "sleep_seconds" {
  type    = number
  default = 8
}

resource "null_resource" "this" {
  triggers = {
    name    = var.name
    project = var.tags["project"]
  }

  provisioner "local-exec" {
    command = "echo started >> ${var.counter_file}; sleep ${var.sleep_seconds}; echo finished >> ${var.counter_file}"
  }
}
