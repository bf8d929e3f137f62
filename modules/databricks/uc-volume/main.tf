# A Unity Catalog schema with one managed volume (the databricks-uc-volume service). Schemas and
# volumes hold no tags: the schema carries project=<id> (and every other tag) as properties, and
# the volume belongs to the project through its schema.

resource "databricks_schema" "this" {
  catalog_name = var.catalog
  name         = var.schema
  comment      = "Managed by Asgard for project ${var.project_id} (resource ${var.name})."
  properties   = var.tags
}

resource "databricks_volume" "this" {
  catalog_name = databricks_schema.this.catalog_name
  schema_name  = databricks_schema.this.name
  name         = var.volume
  volume_type  = "MANAGED"
  comment      = "Managed by Asgard for project ${var.project_id} (resource ${var.name})."
}
