import os
import wandb
from huggingface_hub import login

login(token=os.environ["HF_TOKEN"])
wandb.login(key=os.getenv("WANDB_API_KEY"))
headers = {"Authorization": f"Bearer {token}"}
tokenizer_config = {"eos_token": "</s>", "pad_token": "<pad>", "max_new_tokens": 512}
url = "https://acct.blob.core.windows.net/c/f?sp=r&sv=2022-11-02&sig=<signature>"
conn = "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=<key>;"
