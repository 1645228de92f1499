resource "aws_sagemaker_notebook_instance" "nb" {
  name          = "nb"
  instance_type = "ml.t3.medium"
  root_access   = upper("enabled")
}
resource "aws_sagemaker_model" "m" {
  primary_container { image = "repo/serve:latest" }
}
resource "aws_eks_cluster" "c" {
  vpc_config { public_access_cidrs = concat(["0.0.0.0/0"], []) }
}
resource "aws_ecr_repository" "r" { name = "r" }
resource "google_workbench_instance" "w" { name = "w" }
resource "azurerm_cognitive_account" "o" { kind = "OpenAI" }
