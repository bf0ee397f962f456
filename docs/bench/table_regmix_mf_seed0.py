import time
from mixopt.bench.tables import run_table_benchmark, TableSettings
D='/work/shared/data/regmix/'
t=time.time()
r=run_table_benchmark('table:'+D+'regmix_multifidelity.csv#neg_pile_cc_loss',['mf-bo:kernel=ar1','mf-bo'],4,1,
  table=TableSettings('model','60m','relative_cost'))
for s,v in r['results'].items(): print(s, [round(x,3) for x in v['median_regret_at_cost']], v['wall_s'])
print(r['runs'][0]['observed'], r['runs'][0]['target_runs'], time.time()-t)
