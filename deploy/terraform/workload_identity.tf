# GKE Workload Identity: pods running as these Kubernetes service accounts get the pipeline
# account's credentials from the metadata server, so the deployment needs no key
# (GOOGLE_APPLICATION_CREDENTIALS and GCP_CREDENTIALS stay unset, GCP_AUTH_METHOD=oauth).
# The cluster (or node pool) must run with Workload Identity on, and each Kubernetes service
# account needs the annotation of output workload_identity_annotation.
resource "google_service_account_iam_member" "pipeline_workload_identity" {
  for_each = var.workload_identity_enabled ? toset(var.k8s_service_accounts) : toset([])

  service_account_id = google_service_account.pipeline.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "serviceAccount:${var.project_id}.svc.id.goog[${var.k8s_namespace}/${each.value}]"
}
