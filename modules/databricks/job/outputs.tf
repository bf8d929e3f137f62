output "id" {
  description = "The job id."
  value       = databricks_job.this.id
}

output "name" {
  description = "The job name."
  value       = databricks_job.this.name
}

output "url" {
  description = "The job's page in the workspace."
  value       = databricks_job.this.url
}
