# Optional pieces of a GKE/VM deployment, each off by default.

# Postgres for the Dagster instance (runs, event logs, schedules). Only the database: its
# user and password are made outside Terraform (README.md) so no password sits in the state.
resource "google_sql_database_instance" "dagster" {
  count = var.cloudsql_enabled ? 1 : 0

  name                = var.cloudsql_instance_name
  region              = var.region
  database_version    = var.cloudsql_database_version
  deletion_protection = true

  settings {
    # Stated, because Postgres 16 and later default to ENTERPRISE_PLUS, whose tiers are
    # larger machines only.
    edition           = "ENTERPRISE"
    tier              = var.cloudsql_tier
    availability_type = "ZONAL"
    user_labels       = var.labels

    deletion_protection_enabled = true

    backup_configuration {
      enabled                        = true
      point_in_time_recovery_enabled = true
    }

    # A public address with no authorized network: reachable only through the Cloud SQL
    # Auth Proxy or a Cloud SQL connector, which check IAM (roles/cloudsql.client below).
    ip_configuration {
      ipv4_enabled = true
      ssl_mode     = "ENCRYPTED_ONLY"
    }
  }

  depends_on = [google_project_service.required]
}

resource "google_sql_database" "dagster" {
  count = var.cloudsql_enabled ? 1 : 0

  name     = "dagster"
  instance = google_sql_database_instance.dagster[0].name
}

# Run pods write their event logs to the instance. The webserver and the daemon need a way
# in too (README.md).
resource "google_project_iam_member" "pipeline_cloudsql_client" {
  count = var.cloudsql_enabled ? 1 : 0

  project = var.project_id
  role    = "roles/cloudsql.client"
  member  = "serviceAccount:${google_service_account.pipeline.email}"
}

resource "google_artifact_registry_repository" "images" {
  count = var.artifact_registry_enabled ? 1 : 0

  location      = var.region
  repository_id = var.artifact_registry_repository_id
  format        = "DOCKER"
  description   = "retail_platform images (Dagster code server and runs)"
  labels        = var.labels

  depends_on = [google_project_service.required]
}

resource "google_artifact_registry_repository_iam_member" "readers" {
  for_each = var.artifact_registry_enabled ? toset(var.artifact_registry_readers) : toset([])

  project    = google_artifact_registry_repository.images[0].project
  location   = google_artifact_registry_repository.images[0].location
  repository = google_artifact_registry_repository.images[0].name
  role       = "roles/artifactregistry.reader"
  member     = each.value
}
