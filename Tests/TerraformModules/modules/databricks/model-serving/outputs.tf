output "id" {
  description = "The endpoint's terraform id: its name."
  value       = null_resource.this.triggers["name"]
}

output "name" {
  description = "The endpoint name: what callers query (POST /serving-endpoints/<name>/invocations)."
  value       = null_resource.this.triggers["name"]
}

output "serving_endpoint_id" {
  description = "The endpoint's unique id (the null_resource id)."
  value       = null_resource.this.id
}

output "invocation_path" {
  description = "The path, below DATABRICKS_HOST, that queries the endpoint."
  value       = "/serving-endpoints/${null_resource.this.triggers["name"]}/invocations"
}
