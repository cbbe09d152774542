"""Criteria for choosing k, compared offline on latents the quality runner
kept (`VRAE_STUDY_LATENTS=1 bash bench/quality/study.sh ...` or `quality
--latents DIR`): for every k in 2..=MAX, k-means (scikit-learn, 10
restarts) on the latents standardised as vrae does, scored by the mean
silhouette, the Calinski-Harabasz index, the Davies-Bouldin index, the BIC
of a diagonal Gaussian mixture, the gap statistic (5 uniform reference
sets, the first k within one standard error of the next), the mean
silhouette of the same partitions measured on the principal axes that
carry 90% of the latents' variance (most of a latent's 20 axes carry
little), and stability (the mean ARI, over 5 pairs, between k-means fitted
on two random 80% subsamples, both predicting every point). Prints each
criterion's pick and NMI per file, then how often it picked the class
count, its mean distance from it and its mean NMI. This is how
`clusters: "auto"` got its criterion (BENCHMARKS.md, "Choosing k").

    bench/.venv-classic/bin/python bench/quality/k_criteria.py MAX LATENTS_DIR...
"""
import sys, warnings, numpy as np
from pathlib import Path
from collections import defaultdict
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score, calinski_harabasz_score, davies_bouldin_score, normalized_mutual_info_score as nmi
from sklearn.mixture import GaussianMixture
warnings.filterwarnings('ignore')
KMAX=int(sys.argv[1]); folders=sys.argv[2:]
def std(z):
    c=z-z.mean(0); s=z.std(0); f=0.01*s.max(); return c/np.maximum(s,f)
res=[]
for folder in folders:
    for p in sorted(Path(folder).glob('*-seed*.csv')):
        r=np.loadtxt(p,delimiter=',',ndmin=2); y=r[:,0].astype(int); z=std(r[:,1:]); n=len(z)
        k_true=len(np.unique(y)); kmax=min(KMAX, n-1)
        crit=defaultdict(dict); labels={}
        rng=np.random.default_rng(0)
        lo,hi=z.min(0),z.max(0)
        refs=[rng.uniform(lo,hi,size=z.shape) for _ in range(5)]
        u,sv,vt=np.linalg.svd(z-z.mean(0),full_matrices=False)
        z90=(z-z.mean(0))@vt[:int(np.searchsorted(np.cumsum(sv**2)/(sv**2).sum(),0.9)+1)].T
        for k in range(2,kmax+1):
            km=KMeans(k,n_init=10,random_state=0).fit(z); lab=km.labels_; labels[k]=lab
            if len(np.unique(lab))<2: continue
            crit['sil'][k]=silhouette_score(z,lab)
            crit['ch'][k]=calinski_harabasz_score(z,lab)
            crit['db'][k]=-davies_bouldin_score(z,lab)
            g=GaussianMixture(k,covariance_type='diag',random_state=0,reg_covar=1e-3).fit(z)
            crit['bic'][k]=-g.bic(z)
            w=np.log(km.inertia_); wr=[np.log(KMeans(k,n_init=3,random_state=0).fit(R).inertia_) for R in refs]
            crit['gap'][k]=(np.mean(wr)-w, np.std(wr)*np.sqrt(1+1/5))
            crit['sil90'][k]=silhouette_score(z90,lab)
            pairs=[]
            for rep in range(5):
                a,b=(rng.choice(n,int(0.8*n),replace=False) for _ in range(2))
                ka=KMeans(k,n_init=3,random_state=rep).fit(z[a]); kb=KMeans(k,n_init=3,random_state=rep+100).fit(z[b])
                pairs.append(adjusted_rand_score(ka.predict(z),kb.predict(z)))
            crit['stab'][k]=np.mean(pairs)
        picks={}
        for c in ('sil','ch','db','bic','sil90','stab'):
            picks[c]=max(crit[c],key=crit[c].get)
        ks=sorted(crit['gap'])
        pick=ks[-1]
        for i,k in enumerate(ks[:-1]):
            if crit['gap'][k][0] >= crit['gap'][ks[i+1]][0]-crit['gap'][ks[i+1]][1]: pick=k; break
        picks['gap']=pick
        name=p.stem
        row={'ds':name,'k':k_true}
        for c,k in picks.items(): row[c]=(k, nmi(y,labels[k]))
        row['true']=(k_true, nmi(y, KMeans(k_true,n_init=10,random_state=0).fit_predict(z)))
        res.append(row)
        print(name.ljust(30), k_true, ' '.join(f"{c}={row[c][0]}:{row[c][1]:.2f}" for c in ('sil','ch','db','bic','gap','sil90','stab','true')), flush=True)
print('summary (exact, mean |dk|, mean NMI):')
for c in ('sil','ch','db','bic','gap','sil90','stab','true'):
    ex=np.mean([r[c][0]==r['k'] for r in res]); dk=np.mean([abs(r[c][0]-r['k']) for r in res]); nm=np.mean([r[c][1] for r in res])
    print(c.ljust(6), f'{ex:.2f} {dk:.2f} {nm:.3f}')
