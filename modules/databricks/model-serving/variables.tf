# The interface every Asgard module shares: name, project_id and tags. The terraform connector
# passes them, plus one variable per parameter of the resource. The test module of the same name
# under Tests/TerraformModules has this very file.

variable "name" {
  description = "The serving endpoint name (the Asgard ServingEndpoint id): the name callers query at the vendor."
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

variable "entity_name" {
  description = "The model to serve: a Unity Catalog model as catalog.schema.model (e.g. system.ai.llama_v3_2_3b_instruct) or a workspace registry model."
  type        = string

  validation {
    condition     = length(trimspace(var.entity_name)) > 0
    error_message = "The entity_name must not be empty."
  }
}

variable "entity_version" {
  description = "The version of the model to serve (a string, e.g. \"2\")."
  type        = string

  validation {
    condition     = length(trimspace(var.entity_version)) > 0
    error_message = "The entity_version must not be empty."
  }
}

variable "workload_size" {
  description = "The provisioned concurrency range: Small (4), Medium (8-16) or Large (16-64)."
  type        = string
  default     = "Small"

  validation {
    condition     = contains(["Small", "Medium", "Large"], var.workload_size)
    error_message = "The workload_size must be Small, Medium or Large."
  }
}

variable "scale_to_zero" {
  description = "Whether the endpoint scales down to zero when idle."
  type        = bool
  default     = true
}
