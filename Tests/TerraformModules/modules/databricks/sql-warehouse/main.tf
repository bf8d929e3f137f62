# Stands in for databricks_sql_endpoint.this: every input is a trigger, so a changed parameter
# or tag replaces the resource, and the plan shows each tag as tag_<key>.

resource "null_resource" "this" {
  triggers = merge(
    { for key, value in var.tags : "tag_${key}" => value },
    {
      project          = var.tags["project"]
      project_id       = var.project_id
      name             = var.name
      cluster_size     = var.cluster_size
      auto_stop_mins   = tostring(var.auto_stop_mins)
      max_num_clusters = tostring(var.max_num_clusters)
    },
  )
}
