output "id" {
  description = "The warehouse id."
  value       = databricks_sql_endpoint.this.id
}

output "name" {
  description = "The warehouse name."
  value       = databricks_sql_endpoint.this.name
}

output "jdbc_url" {
  description = "The JDBC connection string of the warehouse (it holds no credentials)."
  value       = databricks_sql_endpoint.this.jdbc_url
}

output "http_path" {
  description = "The HTTP path SQL clients connect to."
  value       = "/sql/1.0/warehouses/${databricks_sql_endpoint.this.id}"
}
