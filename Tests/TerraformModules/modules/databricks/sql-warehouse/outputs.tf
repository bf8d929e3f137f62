output "id" {
  description = "The warehouse id (the null_resource id)."
  value       = null_resource.this.id
}

output "name" {
  description = "The warehouse name."
  value       = null_resource.this.triggers["name"]
}

output "jdbc_url" {
  description = "A JDBC connection string of the real shape, on a placeholder host."
  value       = "jdbc:databricks://workspace.databricks.test:443/default;transportMode=http;ssl=1;AuthMech=3;httpPath=/sql/1.0/warehouses/${null_resource.this.id}"
}

output "http_path" {
  description = "The HTTP path SQL clients connect to."
  value       = "/sql/1.0/warehouses/${null_resource.this.id}"
}
