package diarize

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"

	"gonum.org/v1/gonum/mat"
)

const (
	// sampleSize bounds how many embeddings spectral clustering sees: the
	// affinity, the eigen decompositions and their memory are fixed in
	// size whatever the length of the file; every embedding then joins the
	// nearest speaker centroid (spherical k-means over all of them).
	sampleSize = 500
	// nmeSize is the largest sample the speaker-count search decomposes
	// whole; a larger one is halved for it.
	nmeSize = 300
	// minAutoPoints is the fewest known embeddings auto mode counts
	// speakers from; fewer are one speaker.
	minAutoPoints = 6
	// maxNeighbourRatio bounds the k-NN graph's p at this share of the
	// sample (NeMo's max_rp_threshold).
	maxNeighbourRatio = 0.15
	// pSteps is how many values of p the NME search tries.
	pSteps = 16
	// kmeansTrials is how many seeded k-means++ runs cluster the spectral
	// embedding; the one with the least inertia wins.
	kmeansTrials = 8
	// refineRounds bounds the spherical k-means rounds over all points.
	refineRounds = 20
	// mergeCosine is how alike two clusters' mean directions must be for
	// auto mode to take them for one speaker. Embeddings that come in
	// groups of near-duplicates (a deterministic model, one voice held
	// steady) give k-NN graphs that fall apart into those groups at small
	// p, and the eigengap then counts groups, not speakers; two speakers'
	// means are far less alike than this.
	mergeCosine = 0.9
	eps         = 1e-10
)

// points is a row-major n×d matrix of unit vectors.
type points struct {
	n, d int
	v    []float64
}

func newPoints(n, d int) points { return points{n: n, d: max(d, 0), v: make([]float64, n*max(d, 0))} }

func (p points) row(i int) []float64 { return p.v[i*p.d : (i+1)*p.d] }

func dot(a, b []float64) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}

// cluster labels every row of x with a cluster number. fixed > 0 asks for
// exactly that many clusters (or one per point when there are fewer
// points); otherwise the count is chosen in [kmin, kmax].
func cluster(x points, kmin, kmax, fixed int) []int {
	n := x.n
	labels := make([]int, n)
	switch {
	case n <= 1:
		return labels
	case fixed > 0 && fixed >= n:
		for i := range labels {
			labels[i] = i
		}
		return labels
	case fixed == 0 && n < minAutoPoints:
		return labels
	}
	labels = clusterSample(x, sampleRows(n, sampleSize), kmin, kmax, fixed)
	if fixed == 0 {
		labels = mergeAlike(x, labels, kmin)
	}
	if n <= 2*sampleSize {
		return labels
	}
	// A voice heard for a small share of a long file may have too few
	// windows in the stride sample (one in n/sampleSize) to form a
	// cluster; its windows then fit their centroid worst. A second sample
	// swaps part of the stride for the worst-fitted windows, and wins if
	// it finds more speakers (auto) or fits better (a fixed count).
	fit := fits(x, labels)
	worst := make([]int, n)
	for i := range worst {
		worst[i] = i
	}
	slices.SortStableFunc(worst, func(a, b int) int {
		switch {
		case fit[a] < fit[b]:
			return -1
		case fit[a] > fit[b]:
			return 1
		}
		return 0
	})
	extra := sampleSize / 5
	idx := append(sampleRows(n, sampleSize-extra), worst[:extra]...)
	slices.Sort(idx)
	idx = slices.Compact(idx)
	second := clusterSample(x, idx, kmin, kmax, fixed)
	if fixed == 0 {
		second = mergeAlike(x, second, kmin)
	}
	k1, k2 := slices.Max(labels)+1, slices.Max(second)+1
	if fixed == 0 && k2 > k1 || fixed > 0 && sum(fits(x, second)) > sum(fit) {
		return second
	}
	return labels
}

// mergeAlike joins the two clusters whose mean directions are most alike
// while that is above mergeCosine and more than kmin clusters are left,
// then lets every point find its nearest merged centroid.
func mergeAlike(x points, labels []int, kmin int) []int {
	k := slices.Max(labels) + 1
	cent := newPoints(k, x.d)
	for i, l := range labels {
		c := cent.row(l)
		for j, f := range x.row(i) {
			c[j] += f
		}
	}
	alive := make([]bool, k)
	for c := range alive {
		alive[c] = true
	}
	merged := false
	for left := k; left > max(kmin, 1); left-- {
		a, b, best := -1, -1, mergeCosine
		for i := range k {
			for j := i + 1; j < k; j++ {
				if !alive[i] || !alive[j] {
					continue
				}
				ni, nj := math.Sqrt(dot(cent.row(i), cent.row(i))), math.Sqrt(dot(cent.row(j), cent.row(j)))
				if ni == 0 || nj == 0 {
					continue
				}
				if s := dot(cent.row(i), cent.row(j)) / (ni * nj); s > best {
					a, b, best = i, j, s
				}
			}
		}
		if a < 0 {
			break
		}
		ra := cent.row(a)
		for j, f := range cent.row(b) {
			ra[j] += f
		}
		alive[b], merged = false, true
	}
	if !merged {
		return labels
	}
	var keep []int
	for c := range k {
		if alive[c] {
			keep = append(keep, c)
		}
	}
	out := newPoints(len(keep), x.d)
	for i, c := range keep {
		copy(out.row(i), cent.row(c))
	}
	return refine(x, out)
}

// fits is every point's cosine to its cluster's mean direction.
func fits(x points, labels []int) []float64 {
	k := slices.Max(labels) + 1
	cent := newPoints(k, x.d)
	for i, l := range labels {
		c := cent.row(l)
		for j, f := range x.row(i) {
			c[j] += f
		}
	}
	norms := make([]float64, k)
	for c := range k {
		norms[c] = math.Sqrt(dot(cent.row(c), cent.row(c)))
	}
	out := make([]float64, x.n)
	for i, l := range labels {
		if norms[l] > 0 {
			out[i] = dot(x.row(i), cent.row(l)) / norms[l]
		}
	}
	return out
}

func sum(v []float64) float64 {
	var s float64
	for _, f := range v {
		s += f
	}
	return s
}

// clusterSample runs spectral clustering on the rows idx of x and gives
// every row of x the cluster of the nearest centroid.
func clusterSample(x points, idx []int, kmin, kmax, fixed int) []int {
	m := len(idx)
	sim := make([]float64, m*m)
	for i, a := range idx {
		ra := x.row(a)
		for j := i; j < m; j++ {
			s := dot(ra, x.row(idx[j]))
			sim[i*m+j], sim[j*m+i] = s, s
		}
	}

	var aff *mat.SymDense
	k := fixed
	if m < minAutoPoints { // only with a fixed count: too few for a k-NN graph
		aff = scaledAffinity(sim, m)
	} else {
		// The NME search decomposes one Laplacian per p: it runs on every
		// other row of a large sample (NeMo's nme_mat_size subsampling),
		// and its p scales back up to the whole sample.
		step := 1
		if m > nmeSize {
			step = 2
		}
		sub := subsample(sim, m, step)
		ms := (m + step - 1) / step
		ps := pValues(ms)
		// Auto looks for the largest gap from one speaker up, then raises
		// the count to the minimum: the largest gap among counts that are
		// all too many says nothing.
		lo, hi := 1, min(kmax, ms-1)
		if fixed > 0 {
			lo, hi = fixed, fixed
		}
		p, est := searchP(neighbourRanks(sub, ms), ms, ps, lo, hi)
		if fixed == 0 {
			k = max(est, kmin)
		}
		// The spectral embedding, a decomposition with eigenvectors, is
		// the dearest step: it runs on the same every-other-row sample,
		// and the refinement over all points below settles the rest.
		if step > 1 {
			sim, m, idx = sub, ms, everyOther(idx, step)
		} else {
			p *= step
		}
		ranks := neighbourRanks(sim, m)
		ps = pValues(m)
		aff = knnGraph(ranks, m, p)
		// A graph split into more pieces than speakers gives eigenvectors
		// that mix the pieces arbitrarily: add neighbours until it is not.
		for _, q := range ps {
			if components(aff) <= k {
				break
			}
			if q > p {
				p = q
				aff = knnGraph(ranks, m, p)
			}
		}
	}
	k = min(k, m)
	if k <= 1 {
		return make([]int, x.n)
	}
	emb := spectralEmbedding(aff, k)
	sl := kmeans(emb, k)

	// Centroids of the sample's clusters, then every point to its nearest.
	cent := newPoints(k, x.d)
	for i, a := range idx {
		c := cent.row(sl[i])
		for j, f := range x.row(a) {
			c[j] += f
		}
	}
	return refine(x, cent)
}

// everyOther keeps every step-th of idx, as subsample keeps rows.
func everyOther(idx []int, step int) []int {
	out := make([]int, 0, (len(idx)+step-1)/step)
	for i := 0; i < len(idx); i += step {
		out = append(out, idx[i])
	}
	return out
}

// sampleRows picks at most limit rows spread evenly over 0..n-1.
func sampleRows(n, limit int) []int {
	m := min(n, limit)
	idx := make([]int, m)
	for j := range idx {
		idx[j] = int((float64(j) + 0.5) * float64(n) / float64(m))
	}
	return idx
}

// subsample keeps every step-th row and column of the m×m matrix.
func subsample(sim []float64, m, step int) []float64 {
	if step == 1 {
		return sim
	}
	ms := (m + step - 1) / step
	out := make([]float64, 0, ms*ms)
	for i := 0; i < m; i += step {
		for j := 0; j < m; j += step {
			out = append(out, sim[i*m+j])
		}
	}
	return out
}

// scaledAffinity is the cosine affinity min-max scaled to [0, 1] with a
// zero diagonal, for samples too small for a k-NN graph.
func scaledAffinity(sim []float64, m int) *mat.SymDense {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range sim {
		lo, hi = math.Min(lo, s), math.Max(hi, s)
	}
	a := mat.NewSymDense(m, nil)
	for i := range m {
		for j := i + 1; j < m; j++ {
			v := 1.0
			if hi > lo {
				v = (sim[i*m+j] - lo) / (hi - lo)
			}
			a.SetSym(i, j, v)
		}
	}
	return a
}

// neighbourRanks lists, for every row, the columns by falling similarity
// (ties by column), so a k-NN graph for any p is a prefix of each row.
func neighbourRanks(sim []float64, m int) []int32 {
	ranks := make([]int32, m*m)
	for i := range m {
		r := ranks[i*m : (i+1)*m]
		for j := range r {
			r[j] = int32(j)
		}
		row := sim[i*m : (i+1)*m]
		slices.SortStableFunc(r, func(a, b int32) int {
			switch {
			case row[a] > row[b]:
				return -1
			case row[a] < row[b]:
				return 1
			}
			return 0
		})
	}
	return ranks
}

// pValues are the neighbour counts the NME search tries: from 2 up to
// maxNeighbourRatio of the sample, at most pSteps of them.
func pValues(m int) []int {
	top := max(int(math.Floor(float64(m)*maxNeighbourRatio)), 2)
	steps := min(top-1, pSteps)
	var ps []int
	for s := range steps {
		p := 2
		if steps > 1 {
			p = 2 + int(math.Round(float64(s)*float64(top-2)/float64(steps-1)))
		}
		if len(ps) == 0 || ps[len(ps)-1] != p {
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		ps = []int{2}
	}
	return ps
}

// knnGraph is the binarised p-nearest-neighbour graph of every row (itself
// included, as NeMo does), symmetrised as (A+Aᵀ)/2, with a zero diagonal.
func knnGraph(ranks []int32, m, p int) *mat.SymDense {
	p = min(p, m)
	b := make([]float64, m*m)
	for i := range m {
		for _, j := range ranks[i*m : i*m+p] {
			b[i*m+int(j)] = 1
		}
	}
	a := mat.NewSymDense(m, nil)
	for i := range m {
		for j := i + 1; j < m; j++ {
			if v := (b[i*m+j] + b[j*m+i]) / 2; v != 0 {
				a.SetSym(i, j, v)
			}
		}
	}
	return a
}

// laplacian is D − A for an affinity with a zero diagonal.
func laplacian(a *mat.SymDense) *mat.SymDense {
	m := a.SymmetricDim()
	l := mat.NewSymDense(m, nil)
	for i := range m {
		var d float64
		for j := range m {
			if j != i {
				v := a.At(i, j)
				d += v
				if j > i {
					l.SetSym(i, j, -v)
				}
			}
		}
		l.SetSym(i, i, d)
	}
	return l
}

// searchP runs the normalised maximum eigengap analysis: for every p it
// finds the largest gap between consecutive Laplacian eigenvalues among
// the counts kmin..kmax, and keeps the p whose gap, relative to the
// largest eigenvalue, is biggest for its sparsity (the least
// g_p = (p/m) / gap). It returns that p and the count its gap gives.
func searchP(ranks []int32, m int, ps []int, kmin, kmax int) (p, k int) {
	kmax = max(min(kmax, m-1), 1)
	kmin = min(max(kmin, 1), kmax)
	type res struct {
		g float64
		k int
	}
	out := make([]res, len(ps))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, p := range ps {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			var es mat.EigenSym
			if !es.Factorize(laplacian(knnGraph(ranks, m, p)), false) {
				out[i] = res{math.Inf(1), kmin}
				return
			}
			lam := es.Values(nil)
			best, bestGap := kmin, -1.0
			for c := kmin; c <= kmax; c++ { // the gap after the c-th smallest
				if gap := lam[c] - lam[c-1]; gap > bestGap {
					best, bestGap = c, gap
				}
			}
			top := lam[len(lam)-1]
			g := math.Inf(1)
			if top > eps && bestGap > 0 {
				g = (float64(p) / float64(m)) / (bestGap/(top+eps) + eps)
			}
			out[i] = res{g, best}
		}()
	}
	wg.Wait()
	bi := 0
	for i := range out {
		if out[i].g < out[bi].g {
			bi = i
		}
	}
	return ps[bi], out[bi].k
}

// components counts the connected pieces of the graph.
func components(a *mat.SymDense) int {
	m := a.SymmetricDim()
	seen := make([]bool, m)
	var stack []int
	c := 0
	for s := range m {
		if seen[s] {
			continue
		}
		c++
		seen[s] = true
		stack = append(stack[:0], s)
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for j := range m {
				if !seen[j] && a.At(i, j) != 0 {
					seen[j] = true
					stack = append(stack, j)
				}
			}
		}
	}
	return c
}

// spectralEmbedding is the eigenvectors of the k smallest eigenvalues of
// the graph's Laplacian, one row per point.
func spectralEmbedding(a *mat.SymDense, k int) points {
	m := a.SymmetricDim()
	out := newPoints(m, k)
	var es mat.EigenSym
	if !es.Factorize(laplacian(a), true) {
		return out // all rows alike: one cluster
	}
	var vec mat.Dense
	es.VectorsTo(&vec)
	for i := range m {
		r := out.row(i)
		for j := range k {
			r[j] = vec.At(i, j)
		}
	}
	return out
}

// kmeans clusters the rows into k groups: kmeansTrials seeded k-means++
// starts, Lloyd's iterations, the least inertia wins. Deterministic.
func kmeans(x points, k int) []int {
	var best []int
	bestInertia := math.Inf(1)
	for t := range kmeansTrials {
		rng := rand.New(rand.NewPCG(uint64(t)+1, 0x9e3779b97f4a7c15))
		lab, inertia := lloyd(x, k, rng)
		if inertia < bestInertia {
			best, bestInertia = lab, inertia
		}
	}
	return best
}

func sqdist(a, b []float64) float64 {
	var s float64
	for i := range a {
		d := a[i] - b[i]
		s += d * d
	}
	return s
}

func lloyd(x points, k int, rng *rand.Rand) ([]int, float64) {
	n := x.n
	cent := newPoints(k, x.d)
	// k-means++ seeding.
	copy(cent.row(0), x.row(rng.IntN(n)))
	d2 := make([]float64, n)
	for i := range d2 {
		d2[i] = sqdist(x.row(i), cent.row(0))
	}
	for c := 1; c < k; c++ {
		var sum float64
		for _, v := range d2 {
			sum += v
		}
		pick := 0
		if sum > 0 {
			r := rng.Float64() * sum
			for i, v := range d2 {
				r -= v
				if r <= 0 && v > 0 {
					pick = i
					break
				}
				pick = i
			}
		} else {
			pick = rng.IntN(n)
		}
		copy(cent.row(c), x.row(pick))
		for i := range d2 {
			d2[i] = math.Min(d2[i], sqdist(x.row(i), cent.row(c)))
		}
	}
	lab := make([]int, n)
	counts := make([]int, k)
	var inertia float64
	for it := 0; it < 100; it++ {
		changed := it == 0
		inertia = 0
		for i := range n {
			b, bd := 0, math.Inf(1)
			for c := range k {
				if d := sqdist(x.row(i), cent.row(c)); d < bd {
					b, bd = c, d
				}
			}
			if lab[i] != b {
				lab[i], changed = b, true
			}
			inertia += bd
		}
		if !changed {
			break
		}
		clear(cent.v)
		clear(counts)
		for i := range n {
			counts[lab[i]]++
			c := cent.row(lab[i])
			for j, f := range x.row(i) {
				c[j] += f
			}
		}
		for c := range k {
			if counts[c] == 0 { // an empty cluster restarts at the worst-fitted point
				far, fd := 0, -1.0
				for i := range n {
					if d := sqdist(x.row(i), cent.row(lab[i])); d > fd {
						far, fd = i, d
					}
				}
				copy(cent.row(c), x.row(far))
				continue
			}
			for j := range cent.row(c) {
				cent.row(c)[j] /= float64(counts[c])
			}
		}
	}
	return lab, inertia
}

// refine runs spherical k-means over all points from the given (unscaled)
// centroids: every point joins the centroid it is most similar to, the
// centroids move to their members' mean direction, until nothing moves.
// Clusters left empty are dropped and the rest renumbered densely.
func refine(x points, cent points) []int {
	k := cent.n
	lab := make([]int, x.n)
	for i := range lab {
		lab[i] = -1
	}
	workers := max(runtime.GOMAXPROCS(0), 1)
	for round := 0; round < refineRounds; round++ {
		for c := range k {
			r := cent.row(c)
			if nn := math.Sqrt(dot(r, r)); nn > 0 {
				for j := range r {
					r[j] /= nn
				}
			}
		}
		changed := make([]bool, workers)
		var wg sync.WaitGroup
		chunk := (x.n + workers - 1) / workers
		for w := range workers {
			lo, hi := w*chunk, min((w+1)*chunk, x.n)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := lo; i < hi; i++ {
					b, bs := 0, math.Inf(-1)
					for c := range k {
						if s := dot(x.row(i), cent.row(c)); s > bs {
							b, bs = c, s
						}
					}
					if lab[i] != b {
						lab[i], changed[w] = b, true
					}
				}
			}()
		}
		wg.Wait()
		if !slices.Contains(changed, true) {
			break
		}
		clear(cent.v)
		for i := range x.n {
			c := cent.row(lab[i])
			for j, f := range x.row(i) {
				c[j] += f
			}
		}
	}
	// Renumber densely: clusters that lost every point disappear.
	remap := make([]int, k)
	for i := range remap {
		remap[i] = -1
	}
	next := 0
	for i, l := range lab {
		if remap[l] < 0 {
			remap[l] = next
			next++
		}
		lab[i] = remap[l]
	}
	return lab
}
