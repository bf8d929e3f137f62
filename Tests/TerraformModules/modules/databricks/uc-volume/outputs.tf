output "id" {
  description = "The volume's full name, <catalog>.<schema>.<volume>."
  value       = "${null_resource.volume.triggers["catalog"]}.${null_resource.volume.triggers["schema"]}.${null_resource.volume.triggers["volume"]}"
}

output "schema_full_name" {
  description = "The schema's full name, <catalog>.<schema>."
  value       = "${null_resource.schema.triggers["catalog"]}.${null_resource.schema.triggers["schema"]}"
}

output "volume_full_name" {
  description = "The volume's full name, <catalog>.<schema>.<volume>."
  value       = "${null_resource.volume.triggers["catalog"]}.${null_resource.volume.triggers["schema"]}.${null_resource.volume.triggers["volume"]}"
}

output "volume_path" {
  description = "The volume's file path, /Volumes/<catalog>/<schema>/<volume>."
  value       = "/Volumes/${null_resource.volume.triggers["catalog"]}/${null_resource.volume.triggers["schema"]}/${null_resource.volume.triggers["volume"]}"
}
