output "id" {
  description = "The volume's full name, <catalog>.<schema>.<volume>."
  value       = databricks_volume.this.id
}

output "schema_full_name" {
  description = "The schema's full name, <catalog>.<schema>."
  value       = databricks_schema.this.id
}

output "volume_full_name" {
  description = "The volume's full name, <catalog>.<schema>.<volume>."
  value       = databricks_volume.this.id
}

output "volume_path" {
  description = "The volume's file path, /Volumes/<catalog>/<schema>/<volume>."
  value       = "/Volumes/${databricks_volume.this.catalog_name}/${databricks_volume.this.schema_name}/${databricks_volume.this.name}"
}
