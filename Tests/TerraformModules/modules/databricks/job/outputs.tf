output "id" {
  description = "The job id (the null_resource id)."
  value       = null_resource.this.id
}

output "name" {
  description = "The job name."
  value       = null_resource.this.triggers["name"]
}

output "url" {
  description = "A job page URL of the real shape, on a placeholder host."
  value       = "https://workspace.databricks.test/#job/${null_resource.this.id}"
}
