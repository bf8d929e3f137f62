# The interface every Asgard module shares: name, project_id and tags. The terraform connector
# passes them, plus one variable per parameter of the resource. The test module of the same name
# under Tests/TerraformModules has this very file.

variable "name" {
  description = "The job name (the Asgard resource id)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$", var.name))
    error_message = "The name must be 1 to 63 letters, digits, '-' or '_', starting with a letter or digit."
  }
}

variable "project_id" {
  description = "The id of the Asgard project that owns this resource."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]{1,63}$", var.project_id))
    error_message = "The project_id must be an Asgard id: 1 to 63 lower-case letters, digits or '-'."
  }
}

variable "tags" {
  description = "Tags to put on the resource. Always holds project = <project_id>; Asgard checks it in the plan before applying."
  type        = map(string)

  validation {
    condition     = can(var.tags["project"]) && try(length(var.tags["project"]) > 0, false)
    error_message = "The tags must contain a non-empty \"project\" tag."
  }

  validation {
    condition     = length(var.tags) <= 25
    error_message = "A Databricks job holds at most 25 tags."
  }
}

variable "notebook_path" {
  description = "The absolute workspace path of the notebook the job runs."
  type        = string

  validation {
    condition     = can(regex("^/[^\\s]", var.notebook_path))
    error_message = "The notebook_path must be an absolute workspace path such as /Shared/etl."
  }
}

variable "quartz_cron_expression" {
  description = "When the job runs, as a Quartz cron expression (e.g. \"0 0 6 * * ?\"); null runs it only on demand."
  type        = string
  default     = null
}

variable "timezone_id" {
  description = "The Java time zone id the schedule is read in."
  type        = string
  default     = "UTC"
}

variable "spark_version" {
  description = "The Databricks runtime of the job cluster; null picks the latest long-term-support runtime."
  type        = string
  default     = null
}

variable "node_type_id" {
  description = "The node type of the job cluster; null picks the smallest node type with a local disk."
  type        = string
  default     = null
}

variable "num_workers" {
  description = "Workers of the job cluster (the driver comes on top)."
  type        = number
  default     = 1

  validation {
    condition     = var.num_workers >= 1 && var.num_workers <= 100 && floor(var.num_workers) == var.num_workers
    error_message = "The num_workers must be a whole number from 1 to 100."
  }
}
