locals {
  landing_bucket = coalesce(var.landing_bucket_name, "${var.project_id}-retail-landing")
}

# Source systems write <prefix>/<entity>/transaction_date=YYYY-MM-DD/<batch>.<jsonl|csv>;
# the landing sensor reads them and moves strays under <prefix>/quarantine/.
resource "google_storage_bucket" "landing" {
  name     = local.landing_bucket
  location = var.location
  labels   = var.labels

  # IAM only (no per-object ACLs), and never public whatever a later grant says.
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  # A landing file overwritten or deleted by mistake (a quarantine move deletes the original)
  # can be restored from its previous version.
  versioning {
    enabled = true
  }

  # Old versions only: live landing files are kept, because a backfill re-reads its days'
  # files. A previous version goes once it has been noncurrent for N days.
  lifecycle_rule {
    condition {
      with_state                 = "ARCHIVED"
      days_since_noncurrent_time = var.landing_noncurrent_version_days
    }
    action {
      type = "Delete"
    }
  }

  force_destroy = false

  depends_on = [google_project_service.required]
}
