output "pipeline_service_account_email" {
  description = "The pipeline's service account."
  value       = google_service_account.pipeline.email
}

output "bi_service_account_email" {
  description = "The BI tools' service account."
  value       = google_service_account.bi.email
}

output "landing_bucket" {
  description = "The landing bucket's name (no gs://)."
  value       = google_storage_bucket.landing.name
}

output "compute_logs_bucket" {
  description = "The compute log bucket's name (DAGSTER_COMPUTE_LOGS_BUCKET, no gs://)."
  value       = google_storage_bucket.compute_logs.name
}

output "dataset_ids" {
  description = "Dataset id per layer."
  value       = { for layer, dataset in google_bigquery_dataset.layer : layer => dataset.dataset_id }
}

locals {
  # What docs/gcp.md section 2 asks for. No credential variable: on GKE (Workload Identity),
  # GCE or Cloud Run, Application Default Credentials are the attached account's.
  # The last two are deploy/dagster.yaml's compute log settings, read by every Dagster process.
  environment = {
    RETAIL_TARGET               = "bigquery"
    GCP_PROJECT                 = var.project_id
    GCP_LOCATION                = var.location
    RETAIL_LANDING_BUCKET       = google_storage_bucket.landing.name
    RETAIL_LANDING_PREFIX       = var.landing_prefix
    DAGSTER_COMPUTE_LOGS_BUCKET = google_storage_bucket.compute_logs.name
    DAGSTER_COMPUTE_LOGS_PREFIX = var.compute_logs_prefix
  }
}

output "environment" {
  description = "Environment variables of the Dagster processes (code server and run pods; the compute log pair for all)."
  value       = local.environment
}

output "environment_dotenv" {
  description = "The same as KEY=value lines: terraform output -raw environment_dotenv > .env"
  value       = join("\n", [for key, value in local.environment : "${key}=${value}"])
}

output "workload_identity_annotation" {
  description = "The annotation each Kubernetes service account needs (null without Workload Identity)."
  value       = var.workload_identity_enabled ? { "iam.gke.io/gcp-service-account" = google_service_account.pipeline.email } : null
}

output "cloudsql_connection_name" {
  description = "PROJECT:REGION:INSTANCE for the Cloud SQL Auth Proxy (null when not created)."
  value       = one(google_sql_database_instance.dagster[*].connection_name)
}

output "image_repository" {
  description = "Where to push the image (null when not created)."
  value       = var.artifact_registry_enabled ? "${var.region}-docker.pkg.dev/${var.project_id}/${var.artifact_registry_repository_id}" : null
}
