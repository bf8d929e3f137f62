# A Databricks SQL warehouse (the databricks-sql-warehouse service). Its tags reach every cluster
# it starts and system.billing.usage.custom_tags, where the cost source finds project=<id>.

resource "databricks_sql_endpoint" "this" {
  name             = var.name
  cluster_size     = var.cluster_size
  min_num_clusters = 1
  max_num_clusters = var.max_num_clusters
  auto_stop_mins   = var.auto_stop_mins

  tags {
    dynamic "custom_tags" {
      for_each = var.tags
      content {
        key   = custom_tags.key
        value = custom_tags.value
      }
    }
  }
}
