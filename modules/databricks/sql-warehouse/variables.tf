# The interface every Asgard module shares: name, project_id and tags. The terraform connector
# passes them, plus one variable per parameter of the resource. The test module of the same name
# under Tests/TerraformModules has this very file.

variable "name" {
  description = "The SQL warehouse name (the Asgard resource id)."
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
}

variable "cluster_size" {
  description = "The size of each cluster of the warehouse."
  type        = string
  default     = "2X-Small"

  validation {
    condition     = contains(["2X-Small", "X-Small", "Small", "Medium", "Large", "X-Large", "2X-Large", "3X-Large", "4X-Large", "5X-Large"], var.cluster_size)
    error_message = "The cluster_size must be one of 2X-Small, X-Small, Small, Medium, Large, X-Large, 2X-Large, 3X-Large, 4X-Large, 5X-Large."
  }
}

variable "auto_stop_mins" {
  description = "Minutes of idleness after which the warehouse stops; 0 never stops it."
  type        = number
  default     = 10

  validation {
    condition     = var.auto_stop_mins >= 0 && floor(var.auto_stop_mins) == var.auto_stop_mins
    error_message = "The auto_stop_mins must be a whole number of minutes, 0 or more."
  }
}

variable "max_num_clusters" {
  description = "The most clusters the warehouse scales out to under load."
  type        = number
  default     = 1

  validation {
    condition     = var.max_num_clusters >= 1 && var.max_num_clusters <= 40 && floor(var.max_num_clusters) == var.max_num_clusters
    error_message = "The max_num_clusters must be a whole number from 1 to 40."
  }
}
