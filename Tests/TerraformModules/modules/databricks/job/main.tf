# Stands in for databricks_job.this: every input is a trigger (an unset optional one is ""), so
# a changed parameter or tag replaces the resource, and the plan shows each tag as tag_<key>.

resource "null_resource" "this" {
  triggers = merge(
    { for key, value in var.tags : "tag_${key}" => value },
    {
      project                = var.tags["project"]
      project_id             = var.project_id
      name                   = var.name
      notebook_path          = var.notebook_path
      quartz_cron_expression = var.quartz_cron_expression == null ? "" : var.quartz_cron_expression
      timezone_id            = var.timezone_id
      spark_version          = var.spark_version == null ? "" : var.spark_version
      node_type_id           = var.node_type_id == null ? "" : var.node_type_id
      num_workers            = tostring(var.num_workers)
    },
  )
}
