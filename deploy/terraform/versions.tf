terraform {
  # 1.9: a variable's validation may refer to another variable (partition_expiration_days).
  required_version = ">= 1.9"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 7.0"
    }
  }

  # State is local unless you add a backend, e.g. a GCS bucket made for it beforehand:
  #   backend "gcs" { bucket = "my-project-tfstate" prefix = "retail_platform" }
  # (README.md). Never the landing bucket: the pipeline account may write there.
}

provider "google" {
  project = var.project_id
  region  = var.region
}
