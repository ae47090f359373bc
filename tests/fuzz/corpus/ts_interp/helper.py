def helper(x: Tensor, k: int=2) -> Tensor:
  return torch.relu(torch.mul(x, k))
class M(Module):
  __parameters__ = []
  __buffers__ = []
  def forward(self: __torch__.M,
    x: Tensor) -> Tuple[Tensor, int]:
    y = __torch__.helper(x, k=3)
    if isinstance(x, int):
      ops.prim.RaiseException("int given", "builtins.RuntimeError")
    z = [i * 2 for i in self.l if i > 0]
    return (y, z[0]) if bool(torch.gt(torch.sum(y), 0)) else (x, -1)
