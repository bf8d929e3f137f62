# A Databricks job (the databricks-job service): one notebook task on its own job cluster, on a
# Quartz schedule or on demand. The job's tags are also put on every job cluster it starts, so
# its compute appears in system.billing.usage with project=<id>.

data "databricks_spark_version" "lts" {
  count             = var.spark_version == null ? 1 : 0
  long_term_support = true
}

data "databricks_node_type" "smallest" {
  count      = var.node_type_id == null ? 1 : 0
  local_disk = true
}

locals {
  spark_version = var.spark_version != null ? var.spark_version : data.databricks_spark_version.lts[0].id
  node_type_id  = var.node_type_id != null ? var.node_type_id : data.databricks_node_type.smallest[0].id
}

resource "databricks_job" "this" {
  name                = var.name
  description         = "Managed by Asgard for project ${var.project_id}."
  max_concurrent_runs = 1
  tags                = var.tags

  task {
    task_key = "main"

    new_cluster {
      spark_version = local.spark_version
      node_type_id  = local.node_type_id
      num_workers   = var.num_workers
    }

    notebook_task {
      notebook_path = var.notebook_path
    }
  }

  dynamic "schedule" {
    for_each = var.quartz_cron_expression == null ? [] : [var.quartz_cron_expression]
    content {
      quartz_cron_expression = schedule.value
      timezone_id            = var.timezone_id
    }
  }
}
