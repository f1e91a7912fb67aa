locals {
  # cloudresourcemanager: Terraform reads and edits the project's IAM policy through it.
  # iamcredentials: GKE's metadata server mints the pipeline account's tokens with it.
  services = concat(
    ["bigquery.googleapis.com", "storage.googleapis.com", "iam.googleapis.com", "cloudresourcemanager.googleapis.com"],
    var.workload_identity_enabled ? ["iamcredentials.googleapis.com"] : [],
    var.cloudsql_enabled ? ["sqladmin.googleapis.com"] : [],
    var.artifact_registry_enabled ? ["artifactregistry.googleapis.com"] : [],
  )
}

resource "google_project_service" "required" {
  for_each = toset(local.services)
  service  = each.value

  # Other workloads in the project may use the same APIs: destroying this stack leaves them on.
  disable_on_destroy = false
}
