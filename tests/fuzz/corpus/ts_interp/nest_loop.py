class M(Module):
  __parameters__ = []
  __buffers__ = []
  def forward(self: __torch__.M,
    x: Tensor) -> Tensor:
    l = annotate(List[int], [])
    while True:
      l = [l]
    return x
