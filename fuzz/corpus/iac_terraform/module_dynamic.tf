variable "prefix" { default = "ml" }
locals { names = { for n in ["a", "b"] : n => "${var.prefix}-${n}" } }
module "remote" { source = "terraform-aws-modules/s3-bucket/aws" }
module "local" {
  source = "./modules/x"
  count  = var.prefix == "ml" ? 1 : 0
}
data "aws_iam_policy_document" "p" {
  dynamic "statement" {
    for_each = local.names
    content {
      actions   = ["s3:GetObject"]
      resources = ["arn:aws:s3:::${statement.value}/*"]
      principals {
        type        = "AWS"
        identifiers = ["*"]
      }
    }
  }
}
resource "aws_s3_bucket_policy" "p" {
  bucket = "ml-a"
  policy = data.aws_iam_policy_document.p.json
}
