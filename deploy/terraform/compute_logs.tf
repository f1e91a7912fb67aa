locals {
  compute_logs_bucket = coalesce(var.compute_logs_bucket_name, "${var.project_id}-dagster-logs")
}

# Step stdout/stderr of every run (deploy/dagster.yaml compute_logs: GCSComputeLogManager,
# DAGSTER_COMPUTE_LOGS_BUCKET): the webserver shows them from here, whichever process or pod
# ran the step. The manager checks at start that the bucket exists.
resource "google_storage_bucket" "compute_logs" {
  name     = local.compute_logs_bucket
  location = var.location
  labels   = var.labels

  # IAM only (no per-object ACLs), and never public whatever a later grant says.
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  # No versioning: a log is only ever rewritten by the step that writes it. A log goes N
  # days after it was written; the run's events and status stay in Postgres.
  lifecycle_rule {
    condition {
      age = var.compute_logs_retention_days
    }
    action {
      type = "Delete"
    }
  }

  force_destroy = false

  depends_on = [google_project_service.required]
}

# The Dagster processes run as the pipeline account (the code server and its runs, and the
# daemon and webserver: on a VM the attached account, on GKE the chart's service accounts
# through Workload Identity). objectAdmin: a step's log is uploaded again every 30 s while
# it runs (an overwrite needs delete) and read back by the webserver.
resource "google_storage_bucket_iam_member" "pipeline_compute_logs" {
  bucket = google_storage_bucket.compute_logs.name
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:${google_service_account.pipeline.email}"
}

# storage.buckets.get, which objectAdmin lacks: GCSComputeLogManager calls bucket.exists()
# when the instance loads it, and the answer without this is 403, not "exists". The role
# adds only that to objectAdmin (its other permission, storage.objects.list, is in both).
resource "google_storage_bucket_iam_member" "pipeline_compute_logs_bucket_reader" {
  bucket = google_storage_bucket.compute_logs.name
  role   = "roles/storage.legacyBucketReader"
  member = "serviceAccount:${google_service_account.pipeline.email}"
}
