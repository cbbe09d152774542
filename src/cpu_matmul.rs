//! The model's small dense products (latent heads, decoder start, output
//! map) on the CPU, through the same `gemm` call Candle makes, as a Candle
//! custom op.
//!
//! Why not `Tensor::matmul`: Candle 0.11's CPU matmul asks for its thread
//! count on every call, and without `RAYON_NUM_THREADS` that re-parses
//! `/proc/cpuinfo` (`num_cpus::get_physical`) each time: 3-10% of a
//! training step on small models (BENCHMARKS.md, "A lever found"). These
//! products are a few thousand multiply-adds each, so they run on the
//! calling thread. `gemm` sums each output over `k` in the same order
//! whatever the threading, so the results are Candle's to the bit.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp2, Layout, Shape, Tensor};

use crate::rnn::matmul::{matmul as gemm_into, MatRef};

/// `lhs @ rhs` for 2-D f32 tensors; on the CPU without Candle's per-call
/// thread probe, elsewhere Candle's own product.
pub(crate) fn matmul(lhs: &Tensor, rhs: &Tensor) -> candle_core::Result<Tensor> {
    if lhs.device().is_cpu() && lhs.rank() == 2 && rhs.rank() == 2 && lhs.dtype() == candle_core::DType::F32 {
        lhs.apply_op2(rhs, CpuMatMul)
    } else {
        lhs.matmul(rhs)
    }
}

struct CpuMatMul;

fn error(message: String) -> candle_core::Error {
    candle_core::Error::Msg(format!("matrix product: {message}"))
}

/// A 2-D view of a CPU tensor's storage, strides as its layout has them
/// (a transposed view is read in place).
fn view<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> candle_core::Result<MatRef<'a>> {
    let values = match s {
        CpuStorage::F32(values) => values,
        other => return Err(error(format!("{what} must be f32, got {:?}", other.dtype()))),
    };
    let (&[rows, cols], &[row_stride, col_stride]) = (l.dims(), l.stride()) else {
        return Err(error(format!("{what} must be 2-D, got shape {:?}", l.dims())));
    };
    let data = values.get(l.start_offset()..).ok_or_else(|| error(format!("{what} starts past its storage")))?;
    Ok(MatRef { data, rows, cols, row_stride, col_stride })
}

impl CustomOp2 for CpuMatMul {
    fn name(&self) -> &'static str {
        "vrae-cpu-matmul"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (lhs, rhs) = (view(s1, l1, "left operand")?, view(s2, l2, "right operand")?);
        if lhs.cols != rhs.rows {
            return Err(error(format!("shapes {:?} and {:?} do not chain", l1.dims(), l2.dims())));
        }
        let (m, n) = (lhs.rows, rhs.cols);
        let mut out = vec![0.0f32; m * n];
        if !gemm_into(&mut out, n, false, lhs, rhs) {
            return Err(error(format!("a view of {:?} or {:?} lies outside its storage", l1.dims(), l2.dims())));
        }
        Ok((CpuStorage::F32(out), Shape::from((m, n))))
    }

    /// What Candle's matmul backward computes: `grad @ rhs^T`, `lhs^T @ grad`.
    fn bwd(&self, lhs: &Tensor, rhs: &Tensor, _res: &Tensor, grad: &Tensor) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let lhs_grad = grad.apply_op2_no_bwd(&rhs.t()?, &CpuMatMul)?;
        let rhs_grad = lhs.t()?.apply_op2_no_bwd(grad, &CpuMatMul)?;
        Ok((Some(lhs_grad), Some(rhs_grad)))
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor, Var};

    use super::matmul;

    fn values(n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|i| ((i * 7 % 13) as f32 - 6.0) * scale).collect()
    }

    fn bits(t: &Tensor) -> Vec<u32> {
        t.flatten_all().unwrap().to_vec1::<f32>().unwrap().iter().map(|v| v.to_bits()).collect()
    }

    #[test]
    fn products_and_gradients_equal_candles_bit_for_bit() {
        // The model's shapes: latent heads, decoder start, output map (one
        // column), and a transposed operand.
        for (m, k, n) in [(32, 90, 20), (32, 20, 90), (4480, 90, 1), (7, 3, 5)] {
            let lhs = Var::from_tensor(&Tensor::from_vec(values(m * k, 0.01), (m, k), &Device::Cpu).unwrap()).unwrap();
            let rhs = Var::from_tensor(&Tensor::from_vec(values(k * n, 0.03), (k, n), &Device::Cpu).unwrap()).unwrap();
            let probe = Tensor::from_vec(values(m * n, 0.2), (m, n), &Device::Cpu).unwrap();
            let ours = matmul(&lhs, &rhs).unwrap();
            let candle = lhs.matmul(&rhs).unwrap();
            assert_eq!(bits(&ours), bits(&candle), "{m}x{k}x{n}: products differ");
            let g_ours = (ours * &probe).unwrap().sum_all().unwrap().backward().unwrap();
            let g_candle = (candle * &probe).unwrap().sum_all().unwrap().backward().unwrap();
            for (name, v) in [("lhs", &lhs), ("rhs", &rhs)] {
                assert_eq!(bits(g_ours.get(v).unwrap()), bits(g_candle.get(v).unwrap()), "{m}x{k}x{n}: d{name} differs");
            }
            let t = matmul(&rhs.t().unwrap(), &lhs.t().unwrap()).unwrap();
            assert_eq!(bits(&t), bits(&rhs.t().unwrap().matmul(&lhs.t().unwrap()).unwrap()), "{m}x{k}x{n}: transposed operands");
        }
        let err = matmul(
            &Tensor::zeros((2, 3), candle_core::DType::F32, &Device::Cpu).unwrap(),
            &Tensor::zeros((4, 2), candle_core::DType::F32, &Device::Cpu).unwrap(),
        );
        assert!(err.unwrap_err().to_string().contains("do not chain"));
    }
}
