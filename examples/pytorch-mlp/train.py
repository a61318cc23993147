"""A PyTorch MLP: checkpoints every epoch, resumes from the last one on a retry, exports with torch.onnx.

On the gpu queue mlcycle pins the program to one device with CUDA_VISIBLE_DEVICES; the script uses
CUDA when torch sees it and the CPU otherwise.
"""
import time

import torch
from torch import nn

import mlcycle_trainer

ctx = mlcycle_trainer.context()
torch.manual_seed(int(ctx.param("seed", 0)))
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
print(f"device {device}, CUDA_VISIBLE_DEVICES={ctx.gpu}", flush=True)
if ctx.gpu is not None:
    ctx.report("gpu_device", int(ctx.gpu.split(",")[0]))
    ctx.report("gpu_devices_visible", len(ctx.gpu.split(",")))

X = torch.tensor(ctx.train.X_numpy())
y = torch.tensor(ctx.train.y(), dtype=torch.float32)
Xv = torch.tensor(ctx.validation.X_numpy()).to(device)
yv = torch.tensor(ctx.validation.y(), dtype=torch.float32).to(device)


class MLP(nn.Module):
    def __init__(self, n: int, hidden: int, mean: torch.Tensor, std: torch.Tensor):
        super().__init__()
        # Standardization lives in the module, so the exported ONNX model takes raw columns.
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)
        self.net = nn.Sequential(nn.Linear(n, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, x):
        return self.net((x - self.mean) / self.std).squeeze(-1)  # logits


model = MLP(X.shape[1], int(ctx.param("hidden", 32)), X.mean(0), X.std(0).clamp_min(1e-6)).to(device)
opt = torch.optim.Adam(model.parameters(), lr=float(ctx.param("learning_rate", 0.01)))
loss_fn = nn.BCEWithLogitsLoss()
epochs = int(ctx.param("epochs", 20))
batch = int(ctx.param("batch_size", 128))
start = 0
if ctx.resume_from() is not None:
    state = torch.load(ctx.resume_from() / "state.pt", map_location=device)
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["rng"])
    start = state["epoch"]
    print(f"resumed from epoch {start}", flush=True)

for epoch in range(start + 1, epochs + 1):
    model.train()
    order = torch.randperm(len(X))
    for i in range(0, len(X), batch):
        idx = order[i : i + batch]
        opt.zero_grad()
        loss = loss_fn(model(X[idx].to(device)), y[idx].to(device))
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        val_loss = loss_fn(model(Xv), yv).item()
    ctx.report("loss", val_loss, epoch=epoch, total=epochs)
    folder = ctx.checkpoint_path(epoch)
    torch.save({"epoch": epoch, "model": model.state_dict(), "optimizer": opt.state_dict(), "rng": torch.get_rng_state()}, folder / "state.pt")
    ctx.checkpoint(folder, epoch)
    time.sleep(float(ctx.param("sleep_per_epoch", 0)))  # test hook: room to kill it mid-run

ctx.save_model(model, flavor="torch", output="logits")
