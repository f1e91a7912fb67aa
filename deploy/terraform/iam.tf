# Least privilege, as docs/gcp.md section 1 sets it up by hand: no key is ever created (GKE,
# GCE and Cloud Run give the attached account's credentials), no basic role
# (owner/editor/viewer), every grant on the one resource that needs it.
#
# Dataset grants: all google_bigquery_dataset_access (one access entry each, added to what
# the dataset already has), never google_bigquery_dataset_iam_* nor access blocks in
# google_bigquery_dataset. The authorized dataset below exists only as an access entry, and
# the provider documents that the dataset IAM resources remove such entries and fight
# access-entry resources over the same list; authoritative access blocks would in turn
# drop the entries BigQuery adds itself (project owners, the creator).

resource "google_service_account" "pipeline" {
  account_id   = var.pipeline_account_id
  display_name = "retail_platform pipeline"
  description  = "Dagster code server and run pods: writes every retail_* dataset, reads and moves landing files."

  depends_on = [google_project_service.required]
}

resource "google_service_account" "bi" {
  account_id   = var.bi_account_id
  display_name = "retail_platform BI"
  description  = "BI tools: reads retail_marts and nothing else."

  depends_on = [google_project_service.required]
}

# Running a query, load or copy job is a project permission; what a job may read or write
# is decided by the dataset grants below.
resource "google_project_iam_member" "pipeline_job_user" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = "serviceAccount:${google_service_account.pipeline.email}"
}

resource "google_project_iam_member" "bi_job_user" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = "serviceAccount:${google_service_account.bi.email}"
}

# The provider sends roles/bigquery.dataEditor and dataViewer as the dataset roles WRITER and
# READER (the same permissions) and suppresses the diff the API's answer would show.
resource "google_bigquery_dataset_access" "pipeline_editor" {
  for_each = google_bigquery_dataset.layer

  dataset_id    = each.value.dataset_id
  role          = "roles/bigquery.dataEditor"
  user_by_email = google_service_account.pipeline.email
}

resource "google_bigquery_dataset_access" "bi_marts_viewer" {
  dataset_id    = google_bigquery_dataset.layer["marts"].dataset_id
  role          = "roles/bigquery.dataViewer"
  user_by_email = google_service_account.bi.email
}

locals {
  # The datasets marts' views read beyond marts: v_executive_summary joins gold's dim_stores,
  # customer_health joins ml's churn_scores (sql/models/marts).
  marts_view_sources = ["gold", "ml"]
}

# retail_marts is an authorized dataset on gold and ml: every view in marts, present and
# future, may read them, so BI queries those views without any grant on gold (which holds
# PII: names, emails) or ml. Only views: a marts table gets no read access this way.
resource "google_bigquery_dataset_access" "marts_views" {
  for_each = toset(local.marts_view_sources)

  dataset_id = google_bigquery_dataset.layer[each.key].dataset_id
  dataset {
    dataset {
      project_id = google_bigquery_dataset.layer["marts"].project
      dataset_id = google_bigquery_dataset.layer["marts"].dataset_id
    }
    target_types = ["VIEWS"]
  }
}

# objectAdmin, not objectViewer: the landing sensor moves strays under quarantine/ (copy,
# then delete). On this bucket only; nothing at project level.
resource "google_storage_bucket_iam_member" "pipeline_landing" {
  bucket = google_storage_bucket.landing.name
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:${google_service_account.pipeline.email}"
}
