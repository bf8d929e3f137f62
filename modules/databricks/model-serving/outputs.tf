output "id" {
  description = "The endpoint's terraform id: its name."
  value       = databricks_model_serving.this.id
}

output "name" {
  description = "The endpoint name: what callers query (POST /serving-endpoints/<name>/invocations)."
  value       = databricks_model_serving.this.name
}

output "serving_endpoint_id" {
  description = "The endpoint's unique id at Databricks (used for permissions)."
  value       = databricks_model_serving.this.serving_endpoint_id
}

output "invocation_path" {
  description = "The path, below DATABRICKS_HOST, that queries the endpoint."
  value       = "/serving-endpoints/${databricks_model_serving.this.name}/invocations"
}
