resource "aws_iam_role" "r" {
  assume_role_policy = <<-EOT
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
     "Action": "sts:AssumeRole", "Principal": {"AWS": "*"}}]}
  EOT
}
resource "aws_iam_policy" "p" {
  policy = jsonencode({ Statement = [{ Effect = "Allow", NotAction = ["iam:*"], Resource = "*" }] })
}
