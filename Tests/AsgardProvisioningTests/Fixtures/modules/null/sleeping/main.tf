# Hangs at apply: records its shell's and its sleep's PIDs under var.pid_dir, then waits on a
# long sleep (a child of the shell, a grandchild of terraform).

variable "name" {
  type = string
}

variable "project_id" {
  type = string
}

variable "tags" {
  type = map(string)
}

variable "pid_dir" {
  type = string
}

resource "null_resource" "this" {
  triggers = {
    name    = var.name
    project = var.tags["project"]
  }

  provisioner "local-exec" {
    command = "echo $$ > ${var.pid_dir}/shell.pid; sleep 120 & echo $! > ${var.pid_dir}/sleep.pid; wait"
  }
}
