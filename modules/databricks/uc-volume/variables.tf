# The interface every Asgard module shares: name, project_id and tags. The terraform connector
# passes them, plus one variable per parameter of the resource. The test module of the same name
# under Tests/TerraformModules has this very file.

variable "name" {
  description = "The Asgard resource id; it names the schema's and the volume's comment."
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

variable "catalog" {
  description = "The Unity Catalog catalog that holds the schema; it must exist."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_]{1,255}$", var.catalog))
    error_message = "The catalog must be 1 to 255 letters, digits or '_'."
  }
}

variable "schema" {
  description = "The schema to create in the catalog; it carries the tags as properties."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_]{1,255}$", var.schema))
    error_message = "The schema must be 1 to 255 letters, digits or '_'."
  }
}

variable "volume" {
  description = "The managed volume to create in the schema."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_]{1,255}$", var.volume))
    error_message = "The volume must be 1 to 255 letters, digits or '_'."
  }
}
