/* Click a header: sort by its column (numbers by data-v), again: the other way. Lines joined. */
document.querySelectorAll('table.sort th').forEach(function(th){th.addEventListener('click',function(){var t=th.closest('table'),b=t.tBodies[0],i=th.cellIndex,n=th.classList.contains('n'),d=th.dataset.dir==='d'?'a':'d';
t.querySelectorAll('th').forEach(function(h){delete h.dataset.dir});
th.dataset.dir=d;
var k=function(r){var c=r.cells[i];
return n?parseFloat(c.dataset.v):c.textContent};
var rows=Array.prototype.slice.call(b.rows).sort(function(x,y){var p=k(x),q=k(y);
return (p<q?-1:p>q?1:0)*(d==='a'?1:-1)});
var f=document.createDocumentFragment();
rows.forEach(function(r){f.appendChild(r)});
b.appendChild(f)})});

