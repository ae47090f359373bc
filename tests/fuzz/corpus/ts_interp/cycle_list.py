class M(Module):
  __parameters__ = []
  __buffers__ = []
  def forward(self: __torch__.M,
    x: Tensor) -> Tensor:
    l = self.l
    _0 = l.append(l)
    self.me = self
    return x
