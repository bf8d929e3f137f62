output "id" {
  description = "The null_resource's id: new on every replacement."
  value       = null_resource.this.id
}

output "triggers" {
  value = null_resource.this.triggers
}

/* A sensitive output: the connector must keep it only as "(sensitive)".
output "commented_out" { value = 1 }
*/
output "secret_hint" {
  value     = "hunter2-${var.name}"
  sensitive = true
}
