# Stands in for databricks_schema.this and databricks_volume.this. The schema carries the tags
# (as the real schema's properties do) and every input; the volume, like the real one, carries
# no tags and depends on its schema. Every trigger is known at plan time, so a plan shows both
# resources' triggers in full.

resource "null_resource" "schema" {
  triggers = merge(
    { for key, value in var.tags : "tag_${key}" => value },
    {
      project    = var.tags["project"]
      project_id = var.project_id
      name       = var.name
      catalog    = var.catalog
      schema     = var.schema
    },
  )
}

resource "null_resource" "volume" {
  triggers = {
    project    = var.tags["project"]
    project_id = var.project_id
    name       = var.name
    catalog    = null_resource.schema.triggers["catalog"]
    schema     = null_resource.schema.triggers["schema"]
    volume     = var.volume
  }
}
