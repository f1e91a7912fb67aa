variable "project_id" {
  description = "The GCP project every resource lives in (GCP_PROJECT)."
  type        = string
}

variable "location" {
  description = "BigQuery datasets and the landing bucket, e.g. EU or US (GCP_LOCATION). A dataset's location cannot change after creation."
  type        = string
  default     = "EU"
}

variable "region" {
  description = "The region of regional resources: the Cloud SQL instance and the Artifact Registry repository."
  type        = string
  default     = "europe-west1"
}

# The code's layers, in order (a test compares this default with the Python code's list:
# retail_platform_tests/test_terraform_least_privilege.py). Each becomes dataset retail_<layer>.
variable "layers" {
  description = "The platform's layers; one BigQuery dataset retail_<layer> each."
  type        = list(string)
  default     = ["raw", "silver", "gold", "ml", "marts"]

  validation {
    # iam.tf refers to these three by name (BI reads marts; marts' views read gold and ml).
    condition     = alltrue([for layer in ["gold", "ml", "marts"] : contains(var.layers, layer)])
    error_message = "layers must include gold, ml and marts."
  }
}

variable "labels" {
  description = "Labels on every dataset, the bucket and the optional resources (lower-case keys and values)."
  type        = map(string)
  default = {
    app        = "retail-platform"
    managed-by = "terraform"
  }
}

variable "partition_expiration_days" {
  description = "Optional default partition expiration per layer in days, e.g. { raw = 400 }. Applies to tables created after it is set; an expired partition is gone for good."
  type        = map(number)
  default     = {}

  validation {
    condition     = alltrue([for layer in keys(var.partition_expiration_days) : contains(var.layers, layer)])
    error_message = "partition_expiration_days keys must be layers."
  }
}

variable "landing_bucket_name" {
  description = "The landing bucket (RETAIL_LANDING_BUCKET); default <project_id>-retail-landing. Bucket names are global."
  type        = string
  default     = null
}

variable "landing_prefix" {
  description = "The folder inside the bucket that source systems write to (RETAIL_LANDING_PREFIX)."
  type        = string
  default     = "landing"
}

variable "landing_noncurrent_version_days" {
  description = "Days a replaced or deleted landing file's old version is kept before the lifecycle rule deletes it."
  type        = number
  default     = 30
}

variable "compute_logs_bucket_name" {
  description = "The bucket of Dagster's step logs (DAGSTER_COMPUTE_LOGS_BUCKET); default <project_id>-dagster-logs. Bucket names are global."
  type        = string
  default     = null
}

variable "compute_logs_prefix" {
  description = "The folder inside the compute log bucket (DAGSTER_COMPUTE_LOGS_PREFIX)."
  type        = string
  default     = "compute-logs"
}

variable "compute_logs_retention_days" {
  description = "Days a step's log is kept before the lifecycle rule deletes it."
  type        = number
  default     = 90

  validation {
    condition     = var.compute_logs_retention_days >= 1
    error_message = "compute_logs_retention_days must be at least 1."
  }
}

variable "pipeline_account_id" {
  description = "Account id of the pipeline's service account (Dagster: code server and run pods)."
  type        = string
  default     = "retail-pipeline"
}

variable "bi_account_id" {
  description = "Account id of the BI tools' service account (Looker Studio, Power BI)."
  type        = string
  default     = "retail-bi"
}

variable "workload_identity_enabled" {
  description = "GKE: let the Kubernetes service accounts below act as the pipeline account (Workload Identity)."
  type        = bool
  default     = false
}

variable "k8s_namespace" {
  description = "The namespace the Dagster Helm release runs in."
  type        = string
  default     = "dagster"
}

variable "k8s_service_accounts" {
  # The names deploy/helm/values.yaml gives the chart's accounts, and the Auth Proxy's
  # (deploy/helm/cloud-sql-proxy.yaml): retail-user-code runs the code server and, through
  # its container context, every run pod (BigQuery, the landing bucket, compute logs);
  # retail-dagster runs the webserver and the daemon (compute logs only); cloud-sql-proxy
  # connects to Cloud SQL (roles/cloudsql.client). A test keeps this list and the Helm
  # values in step.
  description = "Kubernetes service accounts (in k8s_namespace) that impersonate the pipeline account."
  type        = list(string)
  default     = ["retail-user-code", "retail-dagster", "cloud-sql-proxy"]
}

variable "cloudsql_enabled" {
  description = "Create a Cloud SQL Postgres instance and database for the Dagster instance's storage."
  type        = bool
  default     = false
}

variable "cloudsql_instance_name" {
  description = "Cloud SQL instance name (a deleted name cannot be reused for about a week)."
  type        = string
  default     = "retail-dagster"
}

variable "cloudsql_database_version" {
  description = "Postgres major version of the Cloud SQL instance."
  type        = string
  default     = "POSTGRES_16"
}

variable "cloudsql_tier" {
  description = "Machine type of the Cloud SQL instance (an ENTERPRISE edition tier)."
  type        = string
  default     = "db-custom-1-3840"
}

variable "artifact_registry_enabled" {
  description = "Create a Docker repository in Artifact Registry for the platform's image."
  type        = bool
  default     = false
}

variable "artifact_registry_repository_id" {
  description = "Artifact Registry repository id."
  type        = string
  default     = "retail-platform"
}

variable "artifact_registry_readers" {
  description = "Members that pull the image, e.g. the GKE node pool's service account: [\"serviceAccount:...\"]."
  type        = list(string)
  default     = []
}
