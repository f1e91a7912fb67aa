locals {
  # The code's dataset names: RAW_SCHEMA in retail_platform/defs/raw/assets.py and each
  # layer's +schema in sql/dbt_project.yml are retail_<layer> (the test checks both).
  dataset_prefix = "retail_"
  dataset_ids    = { for layer in var.layers : layer => "${local.dataset_prefix}${layer}" }
}

resource "google_bigquery_dataset" "layer" {
  for_each = local.dataset_ids

  dataset_id  = each.value
  location    = var.location
  description = "retail_platform, ${each.key} layer (deploy/terraform)"
  labels      = merge(var.labels, { layer = each.key })

  default_partition_expiration_ms = try(var.partition_expiration_days[each.key] * 86400000, null)

  # A destroy never drops loaded data: it fails while a dataset still has tables.
  delete_contents_on_destroy = false

  # No access blocks here: every grant is a google_bigquery_dataset_access (iam.tf). Access
  # blocks would be authoritative and fight those resources over the dataset's access list.

  depends_on = [google_project_service.required]
}
