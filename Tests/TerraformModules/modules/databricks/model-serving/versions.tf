# A test double of modules/databricks/model-serving on hashicorp/null 2.1.2, which `make terraform`
# installs in an offline filesystem mirror.
terraform {
  required_version = ">= 1.0.3"

  required_providers {
    null = {
      source  = "hashicorp/null"
      version = "2.1.2"
    }
  }
}
