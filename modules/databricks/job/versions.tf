# The databricks provider reads DATABRICKS_HOST and DATABRICKS_TOKEN from the environment the
# terraform connector runs terraform in: no provider block, no credentials in configuration.
terraform {
  required_version = ">= 1.0.3"

  required_providers {
    databricks = {
      source  = "databricks/databricks"
      version = "~> 1.50"
    }
  }
}
